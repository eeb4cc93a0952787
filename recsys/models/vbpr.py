"""VBPR (He & McAuley, AAAI 2016): BPR matrix factorisation with a learned visual projection, in torch."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from recsys.data import item_user_counts

from visual.devices import resolve_device

from recsys.vectors import normalize_rows

from .base import Recommender
from .foldin import fold_in_bpr


def _device(name: str):
    import torch
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return resolve_device(name)


class VBPRRecommender(Recommender):
    """Visual Bayesian Personalised Ranking.

    ``score(u, i) = beta_i + <gamma_u, gamma_i> + <theta_u, E^T f_i> + <beta', f_i>`` where
    ``f_i`` is the item's (visual or fused) vector and ``E`` a learned ``dim x visual_factors``
    projection. Trained with mini-batch BPR and Adam; each positive is paired with the hardest of
    ``n_negatives`` sampled items (defaults chosen on the MovieLens-1M ``recbole-811`` valid part).

    Items without interactions -- cold catalog items, and items added later with
    :meth:`add_items` -- are scored from their vector alone (``gamma_i = beta_i = 0``). To make
    that part carry the signal on its own, ``content_dropout`` drops the item's own
    ``gamma_i``/``beta_i`` for a share of training items (as in DropoutNet, Volkovs et al. 2017).

    Parameters
    ----------
    factors : int
        Collaborative latent factors (``gamma``).
    visual_factors : int
        Visual latent factors (``theta``, columns of ``E``).
    epochs, batch_size, learning_rate : optimisation.
    reg : float
        L2 penalty on the user/item rows of each batch.
    visual_reg : float
        Decoupled weight decay (AdamW) on ``E`` and ``beta'``.
    content_dropout : float in [0, 1)
        Share of positive and negative items trained with their id embedding dropped.
    n_negatives : int
        Negatives sampled per positive; the one the model currently scores highest is used
        (1 = plain BPR sampling; more = harder negatives, closer to WARP).
    device : {"auto", "cpu", "cuda", ...}
    random_state : int
    progress : bool
    """

    name = "vbpr"
    uses_visual = True
    requires_features = True

    def __init__(self, factors: int = 64, visual_factors: int = 16, epochs: int = 20, batch_size: int = 4096,
                 learning_rate: float = 0.005, reg: float = 0.01, visual_reg: float = 1e-4,
                 content_dropout: float = 0.3, n_negatives: int = 5, device: str = "auto", random_state: int = 0,
                 progress: bool = True):
        self.factors = factors
        self.visual_factors = visual_factors
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.reg = reg
        self.visual_reg = visual_reg
        self.content_dropout = content_dropout
        self.n_negatives = n_negatives
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def _check_params(self):
        if not 0.0 <= self.content_dropout < 1.0:
            raise ValueError(f"content_dropout must be in [0, 1), got {self.content_dropout}")
        for k in ("factors", "visual_factors", "epochs", "batch_size", "n_negatives"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")

    def _fit(self, user_items, features):
        import torch
        dev = _device(self.device)
        gen = torch.Generator(device="cpu").manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(self.random_state)
        n_users, n_items = user_items.shape
        X = user_items.tocoo()
        pos_u, pos_i = X.row.astype(np.int64), X.col.astype(np.int64)
        counts = item_user_counts(user_items)
        warm = np.flatnonzero(counts > 0)
        keys = np.sort(pos_u * n_items + pos_i)  # to reject sampled negatives the user has
        F = torch.from_numpy(features.vectors).to(dev)
        D, K, KV = F.shape[1], int(self.factors), int(self.visual_factors)
        gu = torch.nn.Parameter(torch.randn(n_users, K, generator=gen).to(dev) * 0.01)
        gi = torch.nn.Parameter(torch.randn(n_items, K, generator=gen).to(dev) * 0.01)
        tu = torch.nn.Parameter(torch.randn(n_users, KV, generator=gen).to(dev) * 0.01)
        bi = torch.nn.Parameter(torch.zeros(n_items, device=dev))
        E = torch.nn.Parameter(torch.randn(D, KV, generator=gen).to(dev) / np.sqrt(D))
        bv = torch.nn.Parameter(torch.zeros(D, device=dev))
        opt = torch.optim.Adam([gu, gi, tu, bi], lr=self.learning_rate)
        opt_v = torch.optim.AdamW([E, bv], lr=self.learning_rate, weight_decay=self.visual_reg)
        n, bs = len(pos_u), int(self.batch_size)
        # the whole catalog's projection per step is cheaper than per sampled item on small catalogs
        project_all = n_items <= 2 * bs
        self.loss_history_ = []
        bar = tqdm(range(self.epochs), desc="vbpr epochs", disable=not self.progress)
        for _ in bar:
            perm = rng.permutation(n)
            m = int(self.n_negatives)
            neg = warm[rng.integers(0, len(warm), (n, m))]
            for _retry in range(3):
                q = pos_u[perm][:, None] * n_items + neg
                at = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
                clash = keys[at] == q
                if not clash.any():
                    break
                neg[clash] = warm[rng.integers(0, len(warm), int(clash.sum()))]
            U = torch.from_numpy(pos_u[perm]).to(dev)
            Ipos = torch.from_numpy(pos_i[perm]).to(dev)
            J = torch.from_numpy(neg).to(dev)
            if self.content_dropout > 0:
                KI = (torch.rand(n, generator=gen) >= self.content_dropout).float().to(dev)
                KJ = (torch.rand(n, generator=gen) >= self.content_dropout).float().to(dev)
            total = torch.zeros((), device=dev)
            for s in range(0, n, bs):
                u, i, j = U[s:s + bs], Ipos[s:s + bs], J[s:s + bs]
                if project_all:
                    P, c = F @ E, F @ bv
                if m > 1:  # the hardest of m sampled negatives (highest current score)
                    with torch.no_grad():
                        Pj = P[j] if project_all else F[j] @ E
                        cj = c[j] if project_all else F[j] @ bv
                        xj = bi[j] + (gu[u][:, None, :] * gi[j]).sum(-1) + (tu[u][:, None, :] * Pj).sum(-1) + cj
                        j = j.gather(1, xj.argmax(dim=1, keepdim=True))[:, 0]
                else:
                    j = j[:, 0]
                Gu, Tu, Gi, Gj, Bi, Bj = gu[u], tu[u], gi[i], gi[j], bi[i], bi[j]
                if self.content_dropout > 0:
                    ki, kj = KI[s:s + bs], KJ[s:s + bs]
                    Gi, Gj, Bi, Bj = Gi * ki[:, None], Gj * kj[:, None], Bi * ki, Bj * kj
                if project_all:
                    dP, dc = P[i] - P[j], c[i] - c[j]
                else:
                    dF = F[i] - F[j]
                    dP, dc = dF @ E, dF @ bv
                x = Bi - Bj + (Gu * (Gi - Gj)).sum(1) + (Tu * dP).sum(1) + dc
                loss = torch.nn.functional.softplus(-x).mean()
                reg = self.reg * (Gu.square().sum() + Gi.square().sum() + Gj.square().sum() + Tu.square().sum()
                                  + Bi.square().sum() + Bj.square().sum()) / len(u)
                opt.zero_grad(set_to_none=True)
                opt_v.zero_grad(set_to_none=True)
                (loss + reg).backward()
                opt.step()
                opt_v.step()
                total += loss.detach() * len(u)
            self.loss_history_.append(float(total) / n)
            bar.set_postfix(loss=f"{self.loss_history_[-1]:.4f}")
        with torch.no_grad():
            self.user_factors_ = gu.detach().cpu().numpy().astype(np.float32)
            self.user_visual_ = tu.detach().cpu().numpy().astype(np.float32)
            self.item_factors_ = gi.detach().cpu().numpy().astype(np.float32)
            self.item_bias_ = bi.detach().cpu().numpy().astype(np.float32)
            self.projection_ = E.detach().cpu().numpy().astype(np.float32)
            self.visual_bias_ = bv.detach().cpu().numpy().astype(np.float32)
        # items never seen in training keep no id part: they are scored from their vector alone
        cold = counts == 0
        self.item_factors_[cold] = 0
        self.item_bias_[cold] = 0
        self.item_vectors_ = features.vectors
        self.present_ = features.present
        self._build_scoring()

    def _build_scoring(self):
        F = self.item_vectors_
        self._user_repr = np.hstack([self.user_factors_, self.user_visual_,
                                     np.ones((len(self.user_factors_), 1), np.float32)])
        self._item_repr = np.hstack([self.item_factors_, F @ self.projection_,
                                     (self.item_bias_ + F @ self.visual_bias_)[:, None]]).astype(np.float32)

    def _score(self, user_index):
        return self._user_repr[user_index] @ self._item_repr.T

    def _score_history(self, X, R):
        Q, b = self._item_repr[:, :-1], self._item_repr[:, -1]
        return fold_in_bpr(Q, b, X, reg=self.reg, random_state=self.random_state) @ Q.T + b

    def _factor_form(self):
        return self._user_repr, self._item_repr

    def _item_vectors(self):
        v = np.hstack([self.item_factors_, self.item_vectors_ @ self.projection_])
        v, norms = normalize_rows(v, return_norms=True)
        return v, norms > 0

    def _visual_vectors(self):
        return self.item_vectors_, self.present_

    def _add_items(self, features):
        n = features.n_items
        self.item_factors_ = np.vstack([self.item_factors_, np.zeros((n, self.item_factors_.shape[1]), np.float32)])
        self.item_bias_ = np.concatenate([self.item_bias_, np.zeros(n, np.float32)])
        self.item_vectors_ = np.vstack([self.item_vectors_, features.vectors])
        self.present_ = np.concatenate([self.present_, features.present])
        self._build_scoring()

    def _get_state(self):
        return {"user_factors": self.user_factors_, "user_visual": self.user_visual_,
                "item_factors": self.item_factors_, "item_bias": self.item_bias_, "projection": self.projection_,
                "visual_bias": self.visual_bias_, "item_vectors": self.item_vectors_, "present": self.present_}

    def _set_state(self, state):
        for k in ("user_factors", "user_visual", "item_factors", "item_bias", "projection", "visual_bias",
                  "item_vectors"):
            setattr(self, k + "_", state[k])
        self.present_ = state["present"].astype(bool)
        self._build_scoring()
