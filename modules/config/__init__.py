"""Environment configuration: HCL files in ``envs/<env>/`` → frozen, validated dataclasses."""

from modules.config.hcl import ConfigError
from modules.config.loader import load_env
from modules.config.model import (
    Account,
    Backend,
    Domain,
    EnvConfig,
    HeartbeatSettings,
    RegionQuota,
    Slice,
    StackTarget,
)  # fmt: skip

__all__ = [
    "Account", "Backend", "ConfigError", "Domain", "EnvConfig", "HeartbeatSettings", "RegionQuota", "Slice",
    "StackTarget",
    "load_env",
]  # fmt: skip
