"""One way to package any ``functions/<job>`` as a Lambda: a reproducible zip and ``PythonFunction``.

``package`` and ``props`` have no cdktn import; import the constructs from
``modules.lambda_asset.construct``.
"""

from modules.lambda_asset.package import LambdaPackage, package_job
from modules.lambda_asset.props import LOG_RETENTION_DAYS, PythonFunctionProps

__all__ = ["LOG_RETENTION_DAYS", "LambdaPackage", "PythonFunctionProps", "package_job"]
