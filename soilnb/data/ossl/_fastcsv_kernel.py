"""The compiled loop of :mod:`soilnb.data.ossl.fastcsv` (importing this module needs numba)."""
from __future__ import annotations

import numpy as np
from numba import njit

_POW10 = np.array([10.0 ** k for k in range(23)])       # exact doubles (10**22 < 2**53 * 2**22)
_NL, _CR, _QUOTE, _MINUS, _PLUS = 10, 13, 34, 45, 43


@njit(cache=True, nogil=True)
def parse_rows(buf, pos, end, sep, decimal, strict, role, max_rows, X, text_lo, text_hi, slow):
    """Parse at most ``max_rows`` whole rows of ``buf[pos:end]`` (uint8) into ``X`` (float32 rows x channels).

    ``role[f]``: the field's channel (>= 0), a text column ``-2 - k`` (its bytes' bounds into ``text_lo[r, k]``,
    ``text_hi[r, k]``) or -1 (skipped). A number outside the fast path is recorded in ``slow`` as ``(row, channel,
    first byte, end)`` (``strict``: refused instead). Returns ``(pos, rows, n_slow, status)``: ``pos`` the first
    byte after the rows parsed, ``status`` 1 where a row is not read here (``pos`` at its start).
    """
    nf = role.size
    r = 0
    n_slow = 0
    while r < max_rows and pos < end:
        start = pos
        f = 0
        while True:
            ro = role[f]
            if ro >= 0:
                p = pos
                neg = False
                c = buf[p] if p < end else _NL
                if c == _MINUS:
                    neg = True
                    p += 1
                elif c == _PLUS:
                    p += 1
                m = 0           # the significant digits, as an integer (the first 18: no int64 overflow)
                nd = 0          # significant digits (leading zeros not counted)
                ni = 0          # digits, leading zeros counted
                e10 = 0
                point = False   # past the decimal point
                while p < end:
                    c = buf[p]
                    if c == decimal and not point:
                        point = True
                        p += 1
                        continue
                    d = np.int64(c) - 48
                    if d < 0 or d > 9:
                        break
                    if nd > 0 or d != 0:
                        if nd < 18:
                            m = m * 10 + d
                            if point:
                                e10 -= 1    # a kept digit after the point: one power of ten less
                        elif not point:
                            e10 += 1        # an integer digit not kept: one power of ten more
                        nd += 1
                    elif point:
                        e10 -= 1            # a leading zero after the point
                    ni += 1
                    p += 1
                if ni == 0:     # no digit: an empty field is NaN, anything else is not read here
                    if p == pos and (p >= end or buf[p] == sep or buf[p] == _NL or buf[p] == _CR):
                        X[r, ro] = np.nan
                    else:
                        return start, r, n_slow, 1
                else:
                    if p < end and (buf[p] == 101 or buf[p] == 69):
                        p += 1
                        eneg = False
                        if p < end and (buf[p] == _MINUS or buf[p] == _PLUS):
                            eneg = buf[p] == _MINUS
                            p += 1
                        ne = 0
                        ev = 0
                        while p < end:
                            d = np.int64(buf[p]) - 48
                            if d < 0 or d > 9:
                                break
                            if ne < 6:
                                ev = ev * 10 + d
                            ne += 1
                            p += 1
                        if ne == 0 or ne >= 6:
                            return start, r, n_slow, 1
                        e10 += -ev if eneg else ev
                    if p < end and buf[p] != sep and buf[p] != _NL and buf[p] != _CR:
                        return start, r, n_slow, 1
                    if m == 0:
                        v = 0.0
                    elif nd <= 15 and -22 <= e10 <= 22 and (ni <= 17 or not strict):
                        v = np.float64(m)
                        if e10 < 0:
                            v = v / _POW10[-e10]
                        else:
                            v = v * _POW10[e10]
                    else:
                        if strict or n_slow >= slow.shape[0]:
                            return start, r, n_slow, 1
                        slow[n_slow, 0] = r
                        slow[n_slow, 1] = ro
                        slow[n_slow, 2] = pos
                        slow[n_slow, 3] = p
                        n_slow += 1
                        v = 0.0
                    X[r, ro] = -v if neg else v
                pos = p
            else:
                p = pos
                while p < end:
                    c = buf[p]
                    if c == sep or c == _NL or c == _CR:
                        break
                    if c == _QUOTE or c == 0:
                        return start, r, n_slow, 1
                    p += 1
                if ro <= -2:
                    text_lo[r, -2 - ro] = pos
                    text_hi[r, -2 - ro] = p
                pos = p
            f += 1
            if pos >= end:      # the file's last row, without a line end
                if f != nf:
                    return start, r, n_slow, 1
                break
            c = buf[pos]
            if c == sep:
                if f >= nf:
                    return start, r, n_slow, 1
                pos += 1
                continue
            if c == _CR:
                if pos + 1 >= end or buf[pos + 1] != _NL:
                    return start, r, n_slow, 1
                pos += 1
            if f != nf:
                return start, r, n_slow, 1
            pos += 1
            break
        r += 1
    return pos, r, n_slow, 0
