"""Checkov skip reasons every Lambda here shares, stated once (each construct adds the ones that
are its own, such as why its Lambda needs no VPC)."""

from __future__ import annotations

CODE_SIGNING = (
    "The zip is built reproducibly from this repository at synth time and pinned by "
    "source_code_hash; AWS Signer would need an S3 signing job outside Terraform."
)
"""CKV_AWS_272 (Lambda code signing), for every Lambda of this repository."""
