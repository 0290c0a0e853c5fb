//! Smoke tests against a DynamoDB emulator (the full conformance suite lives in the
//! workspace `tests/`). Each test makes its own table.
