"""Small input data shipped with esm and the scripts that derive it.

Installed as the package ``esm.forcing``; look files up with
:func:`esm.data.forcing_path` rather than by path.
"""
