// Package integration holds reckon's end-to-end tests: reckon as a process,
// against a real Kafka and a real Prometheus where the environment provides
// them (see harness_test.go for how the Kafka is chosen).
package integration
