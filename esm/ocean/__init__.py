"""Ocean carbon: carbonate chemistry, air-sea CO2 exchange, mixed-layer carbon and its uptake by the deep ocean."""
