"""transform: sanitise bodies and apply the link policy."""

from .links import apply_link_policy, link_targets
from .sanitize import sanitize

__all__ = ["apply_link_policy", "link_targets", "sanitize"]
