"""Who is an analyst: roles mapped from the signed-in identity's e-mail or groups, in a config file.

The file (``roles.toml`` beside dashboard.py, or ``MONITOR_ROLES``) is plain configuration, not a
secret; ``roles.example.toml`` shows it. Everyone signed in who is not listed is a viewer: viewers
see everything, analysts may also load data, change thresholds, acknowledge alerts and edit events.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ANALYST, VIEWER = "analyst", "viewer"
ROOT = Path(__file__).resolve().parents[1]


class RolesError(ValueError):
    """The roles file cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RoleMap:
    """Identities that are analysts: by e-mail address, e-mail domain, or identity-provider group."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


def roles_path() -> Path:
    return Path(os.environ.get("MONITOR_ROLES") or ROOT / "roles.toml")


def load_role_map(path: Path | None = None) -> RoleMap:
    """The role map from its file; no file means nobody signed in is an analyst."""
    path = path or roles_path()
    if not path.exists():
        return RoleMap()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RolesError(f"{path}: not valid TOML: {exc}") from None
    analysts = data.get("analysts", {})
    if not isinstance(analysts, Mapping):
        raise RolesError(f"{path}: [analysts] must be a table with emails, domains and groups")
    out = {}
    for key in ("emails", "domains", "groups"):
        values = analysts.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RolesError(f"{path}: analysts.{key} must be a list of strings")
        out[key] = frozenset(v.strip().lower() for v in values if v.strip())
    unknown = set(analysts) - {"emails", "domains", "groups"}
    if unknown:
        raise RolesError(f"{path}: unknown key analysts.{sorted(unknown)[0]}; known: emails, domains, groups")
    return RoleMap(**out)


def _groups(identity: Mapping) -> set[str]:
    raw = identity.get("groups") or identity.get("roles") or []
    if isinstance(raw, str):
        raw = raw.replace(";", ",").split(",")
    return {str(g).strip().lower() for g in raw if str(g).strip()}


def role_for(identity: Mapping, role_map: RoleMap) -> str:
    """``analyst`` when the identity's (verified) e-mail, its domain or one of its groups is listed."""
    if not identity.get("is_logged_in"):
        return VIEWER
    email = str(identity.get("email") or "").strip().lower()
    if identity.get("email_verified") is False:
        email = ""  # an unverified address proves nothing
    if email and (email in role_map.emails or email.rpartition("@")[2] in role_map.domains):
        return ANALYST
    return ANALYST if _groups(identity) & role_map.groups else VIEWER
