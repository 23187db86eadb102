__version__ = "0.2.0"   # kept equal to Cargo.toml by tests/test_packages.py; wheels stamp it from Cargo.toml
