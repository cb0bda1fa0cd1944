"""Forecasting maths: baseline demand models, the presale commitment-curve model, metrics and decisions.

Libraries (statsforecast, mlforecast, LightGBM) are wrapped here; nothing in this package touches a database."""
