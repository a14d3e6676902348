"""Tools that measure and set DermAI's trust layer: the scope gate and the referral threshold.

`python -m trust` measures both on every labelled photo set beside the repository (and on non-lesion photos it
makes), writes the chosen references and thresholds into the serving bundle, and the figures into
docs/EVALUATION.md. Nothing here is imported by the web process.
"""
