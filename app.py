#!/usr/bin/env python3
"""CDK entry point (``cdk.json``: ``.venv/bin/python app.py``)."""

from infra.app import build_app

build_app().synth()
