"""The blocking client's resources, generated from baton/client/resources/ by baton/client/generate.py."""
