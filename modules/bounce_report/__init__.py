"""The weekly bounce report: schedule, Lambda, encrypted reports bucket."""
