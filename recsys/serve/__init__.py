"""visrec as a live service: ``create_app(model_dir, ...)`` (FastAPI/ASGI) behind ``visrec serve``.

Endpoints under ``/v1``: similar items, a known user's list, an anonymous session's list, search
by photo, catalog changes (admin), reload (admin); ``/healthz``, ``/readyz``, ``/metrics``.
"""

from .app import create_app, default_state_path
from .keys import ApiKey, KeyRing, KeysFileError

__all__ = ["create_app", "default_state_path", "KeyRing", "ApiKey", "KeysFileError"]
