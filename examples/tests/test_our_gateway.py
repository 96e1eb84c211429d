"""Binds our feature file; the fixtures and steps are tdc-simulator's, loaded by its pytest plugin."""

from pytest_bdd import scenarios

scenarios("our_gateway.feature")
