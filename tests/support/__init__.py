"""Helpers shared by test modules of several directories: builders, fakes and clients, not tests (pytest collects
nothing here). A test module imports these, never another test module."""
