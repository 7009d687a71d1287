//! A loopback stand-in for AD FS, STS and the AWS sign-in pages, for Rolecall's demo and tests.
