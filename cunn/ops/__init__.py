"""Differentiable ops, one module per kernel family: each forward calls the current
backend and records a Function whose backward (written once, here) calls it again."""
