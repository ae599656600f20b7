"""Torch models: modules, training loops, checkpoints, inference (embed, convert), the MLP estimator."""
from .checkpoints import build_nir_to_mir, model_config, save_model, load_checkpoint, load_vae, load_nir_to_mir, load_fno, save_result, load_result  # noqa: F401
from .inference import predict_in_batches, embed, convert, fno_inputs  # noqa: F401
from .latent import latent_activity, latent_alignment  # noqa: F401
from .loop import epoch_lr, MIN_STEPS, capped_batch_size, fit_loop  # noqa: F401
from .mlp import MLPRegressor  # noqa: F401
from .nets import MLP, VAEConfig, VAE, vae_loss, NIRtoMIR, SpectralConv1d, FNO1d  # noqa: F401
from .torchutil import seed_everything, resolve_device, torch_threads, available_cpus, count_parameters, seeded, as_tensor, permutation, batch_slices  # noqa: F401
from .train import REPEATS, alpha_schedule, vae_batch_size, train_vae, train_nir_to_mir, train_fno  # noqa: F401
