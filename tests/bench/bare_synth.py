"""Baseline for the synth benchmark: import the same cdktn bindings the modules import (found by
reading modules/, so the list never goes stale), synthesize one empty stack."""

import importlib
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktn import App, TerraformStack

MODULES = Path(__file__).resolve().parents[2] / "modules"
BINDINGS = sorted(
    {
        name
        for source in MODULES.rglob("*.py")
        for name in re.findall(r"from cdktn_provider_aws\.([a-z0-9_]+) import", source.read_text())
    }
)
for name in ["provider", *BINDINGS]:  # imported for their cost, as the real synth does
    importlib.import_module(f"cdktn_provider_aws.{name}")

app = App(outdir=sys.argv[1])
TerraformStack(app, "empty")
app.synth()
