"""What looks like a credential: a variable name that holds one, a value that could be one, and the
prefixes of known access tokens.  One judgement for Dockerfile ENV/ARG/LABEL (DA102), image configs
(DA802) and Compose environments and env files (DA902, DA912), so the three inputs agree."""

from __future__ import annotations

import re

_SECRET_WORDS = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|SECRETS|TOKEN|APIKEY|API_KEY|ACCESS_KEY|PRIVATE_KEY|SECRET_KEY|"
    r"CREDENTIALS?|AUTH_KEY|CLIENT_SECRET|ACCESS_KEY_ID|SESSION_KEY|SIGNING_KEY|ENCRYPTION_KEY)(?:_|$)"
)
# A name that ends like this holds where a secret lives or how it is used, not the secret.
_NOT_A_SECRET = re.compile(
    r"_(?:FILE|FILES|PATH|DIR|URL|URI|HOST|PORT|ENDPOINT|NAME|TYPE|LENGTH|TTL|HEADER|EXPIRY|EXPIRES|REGION|"
    r"MODE|ENABLED|FORMAT|CMD|COMMAND|SIZE|ID_FILE|LOCATION|VAR|ENV|PREFIX|SUFFIX|POLICY|PROVIDER)$"
)
_TOKEN_PREFIXES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20}|npm_[A-Za-z0-9]{36}"
    r"|AIza[0-9A-Za-z_-]{35}|wandb_v1_[A-Za-z0-9]{20,})"
)


def looks_like_secret_name(name: str) -> bool:
    """A variable name that holds a credential (``HF_TOKEN``, ``dbPassword``), not one that says where
    it lives or how it is used (``PASSWORD_FILE``, ``TOKEN_URL``)."""
    upper = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper().replace("-", "_")
    return bool(_SECRET_WORDS.search(upper)) and not _NOT_A_SECRET.search(upper)


def could_be_credential(value: str) -> bool:
    """A value that could be a credential: not empty, not a variable, not a path or a boolean."""
    plain = value.strip("'\"")
    if not plain or "$" in plain or plain.startswith(("/", "./", "~")):
        return False
    return plain.lower() not in ("true", "false", "yes", "no", "0", "1", "none", "null", "changeme")


def contains_access_token(text: str) -> bool:
    """``text`` holds a token with a known provider prefix (``hf_``, ``ghp_``, ``sk-``, ``AKIA`` …),
    whatever the variable it is assigned to is called."""
    return _TOKEN_PREFIXES.search(text) is not None
