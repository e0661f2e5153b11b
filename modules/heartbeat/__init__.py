"""The heartbeat: a per-second allocator sharing an account-region's SES quota among its slices.

``props`` has no cdktn import; import the construct from ``modules.heartbeat.construct``.
"""

from modules.heartbeat.props import HEARTBEAT_JOB, HeartbeatProps, HeartbeatSlice

__all__ = ["HEARTBEAT_JOB", "HeartbeatProps", "HeartbeatSlice"]
