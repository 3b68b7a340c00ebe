// Package auth holds the cloud's credentials and permissions: argon2id
// password hashes, the bearer secrets (sessions, API tokens, node
// credentials, enrollment tokens) and their hashes, and the roles and
// scopes that decide what a principal may do.
//
// Bearer secrets are 256 random bits, so a plain SHA-256 of one is as hard
// to reverse as the secret is to guess; the store keeps only that hash and
// finds a secret's row by it. Passwords are chosen by people and get a
// slow, salted, memory-hard hash instead.
package auth
