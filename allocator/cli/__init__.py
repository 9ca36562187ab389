"""Command line: parses options, calls one library function per command, renders the result."""

from allocator.cli.app import app, main

__all__ = ["app", "main"]
