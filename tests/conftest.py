"""Hypothesis profiles: ``dev`` (fast, the default), ``ci`` (more examples) and
``thorough`` (many more, for an occasional long local run).

Choose with the environment variable MICROGRADNN_HYPOTHESIS_PROFILE; scripts/test sets
``ci`` when the CI variable is set.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "ci", max_examples=40, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "thorough", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("MICROGRADNN_HYPOTHESIS_PROFILE", "dev"))
