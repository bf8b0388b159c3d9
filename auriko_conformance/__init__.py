"""Conformance suite, mock providers and reference gateway for the Auriko chat-completions API."""

__version__ = "0.1.0"
