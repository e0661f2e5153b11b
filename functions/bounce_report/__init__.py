"""The weekly bounce report: status table → CSV + HTML in S3, and a short summary mail."""
