"""Input/output at the model boundary: CF NetCDF streams, restart files."""
