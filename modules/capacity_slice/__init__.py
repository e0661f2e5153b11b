"""Capacity slices: per-slice SQS lanes + DLQ, the sender Lambda, alarms; one key, state table and
alarm topic per stack.

``props`` and ``policies`` have no cdktn import; import the constructs from
``modules.capacity_slice.construct`` and ``modules.capacity_slice.foundation``.
"""

from modules.capacity_slice.props import LANES, CapacitySliceProps
from modules.shared.foundation import FoundationProps
from modules.shared.names import METRICS_NAMESPACE

__all__ = ["LANES", "METRICS_NAMESPACE", "CapacitySliceProps", "FoundationProps"]
