"""Feature blocks read from wav files with numpy's FFT: band energies, cepstra, a coarse spectrogram, wave stats."""

from __future__ import annotations

import numpy as np

_WAVES: dict[tuple, tuple[np.ndarray, int]] = {}


def waves(paths: list[str]) -> tuple[np.ndarray, int]:
    """All recordings as one float32 matrix (n, samples), padded or cut to the median length, and the rate."""
    from scipy.io import wavfile

    key = tuple(paths)
    if key not in _WAVES:
        sigs, rate = [], None
        for p in paths:
            r, x = wavfile.read(p)
            rate = rate or r
            x = x.astype(np.float32)
            sigs.append(x.mean(axis=1) if x.ndim > 1 else x)
        length = int(np.median([len(s) for s in sigs]))
        out = np.zeros((len(sigs), length), dtype=np.float32)
        for i, s in enumerate(sigs):
            out[i, : min(length, len(s))] = s[:length]
        out /= np.abs(out).max(axis=1, keepdims=True) + 1e-6
        _WAVES[key] = (out, int(rate))
    return _WAVES[key]


def _files(problem) -> list[str]:
    return list(problem.train_files) + list(problem.test_files)


def power_frames(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Short-time power spectra with a Hann window and half-window hop: (n, frames, n_fft // 2 + 1)."""
    hop = max(1, n_fft // 2)
    n_frames = max(1, 1 + (x.shape[1] - n_fft) // hop)
    if x.shape[1] < n_fft:
        x = np.pad(x, ((0, 0), (0, n_fft - x.shape[1])))
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[:, idx] * np.hanning(n_fft).astype(np.float32)
    return (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).astype(np.float32)


def filterbank(n_bins: int, rate: int, bands: int, scale: str = "mel") -> np.ndarray:
    """Triangular filters (bands, n_bins) spaced on the mel scale (or linearly) up to the Nyquist rate."""
    top = rate / 2

    def to_mel(f):
        return 2595 * np.log10(1 + f / 700) if scale == "mel" else f

    def from_mel(m):
        return 700 * (10 ** (m / 2595) - 1) if scale == "mel" else m

    edges = from_mel(np.linspace(to_mel(0.0), to_mel(top), bands + 2))
    freqs = np.linspace(0, top, n_bins)
    fb = np.zeros((bands, n_bins), dtype=np.float32)
    for b in range(bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        fb[b] = np.clip(np.minimum((freqs - lo) / max(mid - lo, 1e-9), (hi - freqs) / max(hi - mid, 1e-9)), 0, None)
    for b in np.flatnonzero(fb.sum(axis=1) == 0):   # a band narrower than one FFT bin takes the nearest bin
        fb[b, np.argmin(np.abs(freqs - edges[b + 1]))] = 1.0
    return fb


def log_bands(problem, n_fft: int, bands: int, scale: str = "mel") -> np.ndarray:
    """Log band energies per frame: (n, frames, bands)."""
    x, rate = waves(_files(problem))
    power = power_frames(x, n_fft)
    return np.log(power @ filterbank(power.shape[-1], rate, bands, scale).T + 1e-8)


def spectrum(problem, p: dict) -> np.ndarray:
    """Statistics over time (mean, std, max, ...) of each band's log energy."""
    e = log_bands(problem, p["n_fft"], p["bands"], p["scale"])
    stat = {"mean": np.mean, "std": np.std, "max": np.max, "min": np.min, "median": np.median}
    return np.hstack([stat[s](e, axis=1) for s in p["stats"]]).astype(np.float32)


def cepstrum(problem, p: dict) -> np.ndarray:
    """Mel-frequency cepstral coefficients: mean and spread over time, and of their deltas."""
    from scipy.fft import dct

    c = dct(log_bands(problem, p["n_fft"], p["bands"]), type=2, norm="ortho", axis=-1)[..., : p["coeffs"]]
    feats = [c.mean(axis=1), c.std(axis=1)]
    if p["deltas"] and c.shape[1] > 1:
        d = np.diff(c, axis=1)
        feats += [d.mean(axis=1), d.std(axis=1)]
    return np.hstack(feats).astype(np.float32)


def spectrogram(problem, p: dict) -> np.ndarray:
    """A coarse log spectrogram (bands x frames, time averaged in chunks), flattened; optionally PCA-reduced."""
    e = log_bands(problem, p["n_fft"], p["bands"])
    n, t, b = e.shape
    edges = np.linspace(0, t, min(p["frames"], t) + 1).astype(int)
    coarse = np.stack([e[:, edges[i]:max(edges[i + 1], edges[i] + 1)].mean(axis=1) for i in range(len(edges) - 1)],
                      axis=1)
    coarse = coarse - coarse.mean(axis=1, keepdims=True)    # per-band normalisation (removes stationary noise)
    X = coarse.reshape(n, -1).astype(np.float32)
    if p["pca"] and p["pca"] < min(X.shape):
        from sklearn.decomposition import PCA

        X = PCA(n_components=p["pca"], random_state=0).fit_transform(X).astype(np.float32)
    return X


def wave_stats(problem, p: dict) -> np.ndarray:
    """Loudness, zero-crossing rate, peak, crest factor and amplitude quantiles of the waveform."""
    x, _ = waves(_files(problem))
    rms = np.sqrt((x ** 2).mean(axis=1))
    zcr = (np.diff(np.sign(x), axis=1) != 0).mean(axis=1)
    peak = np.abs(x).max(axis=1)
    q = np.quantile(np.abs(x), [0.5, 0.9, 0.99], axis=1).T
    return np.column_stack([rms, zcr, peak, peak / (rms + 1e-6), q]).astype(np.float32)


BLOCKS = {"spectrum": spectrum, "cepstrum": cepstrum, "spectrogram": spectrogram, "wave_stats": wave_stats}
