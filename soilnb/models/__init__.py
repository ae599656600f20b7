"""Torch models: modules, training loops, checkpoints, inference (embed, convert), the MLP estimator."""
from .checkpoints import (  # noqa: F401
    build_nir_to_mir,
    load_checkpoint,
    load_fno,
    load_nir_to_mir,
    load_result,
    load_vae,
    model_config,
    save_model,
    save_result,
)
from .inference import convert, embed, fno_inputs, predict_in_batches  # noqa: F401
from .latent import latent_activity, latent_alignment  # noqa: F401
from .loop import epoch_lr, fit_loop  # noqa: F401
from .mlp import MLPRegressor  # noqa: F401
from .nets import MLP, VAE, FNO1d, NIRtoMIR, SpectralConv1d, VAEConfig, vae_loss  # noqa: F401
from .torchutil import (  # noqa: F401
    as_tensor,
    batch_slices,
    count_parameters,
    permutation,
    resolve_device,
    seed_everything,
    seeded,
)
from .train import REPEATS, alpha_schedule, train_fno, train_nir_to_mir, train_vae  # noqa: F401
