"""Normalisation layers (cunn/ops/norm.py, written alongside): their emitters go here."""
