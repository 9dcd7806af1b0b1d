package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/kafka"
)

// kafkaImage is the broker the Docker path starts. testcontainers-go's Kafka
// module (v0.40.0, the newest the Go module proxy serves for it) only
// drives Confluent's images: its starter script sources
// /etc/confluent/docker/*, so apache/kafka images do not start under it.
// confluent-local 7.5.0 is the image the module's own tests use; it is
// Confluent's community build of Apache Kafka 3.5 in KRaft mode (combined
// broker and controller). CI does not take this path: it runs Apache
// Kafka 4.x from Apache's jars and sets KAFKA_BROKERS (see testMain).
const kafkaImage = "confluentinc/confluent-local:7.5.0"

// kafkaStartTimeout bounds pulling the image (several hundred MB on a
// first run) and waiting for the broker to become ready.
const kafkaStartTimeout = 10 * time.Minute

// startKafkaContainer starts a single-node Kafka in a container and returns
// its bootstrap addresses and a function that removes the container.
//
// Besides the broker, testcontainers starts its reaper (Ryuk, image
// testcontainers/ryuk), which removes the broker if this process dies
// before stop runs (a killed `go test`, a panic). Where the reaper cannot
// run (rootless Docker or Podman without a mountable socket, a registry
// that only mirrors some images), set TESTCONTAINERS_RYUK_DISABLED=true:
// stop still removes the container on a normal exit, but a killed run
// leaves it behind (`docker ps -a --filter label=org.testcontainers=true`).
// TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX points both images at a mirror.
func startKafkaContainer() (addrs []string, stop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), kafkaStartTimeout)
	defer cancel()

	c, err := kafka.Run(ctx, kafkaImage, kafka.WithClusterID("reckon-test"))
	// Run may return a created (even running) container together with an
	// error, e.g. when the broker never logged that it is ready: remove it
	// before reporting the error.
	stop = func() error {
		// The container's data is thrown away, so no graceful shutdown is
		// needed (confluent-local is also slow to stop on SIGTERM): stop
		// with a zero timeout, then remove container and volumes.
		return testcontainers.TerminateContainer(c, testcontainers.StopTimeout(0))
	}
	if err != nil {
		if terr := stop(); terr != nil {
			err = fmt.Errorf("%w (and removing the container: %v)", err, terr)
		}
		return nil, nil, fmt.Errorf("starting %s: %w", kafkaImage, err)
	}
	addrs, err = c.Brokers(ctx)
	if err != nil {
		if terr := stop(); terr != nil {
			err = fmt.Errorf("%w (and removing the container: %v)", err, terr)
		}
		return nil, nil, fmt.Errorf("broker address of %s: %w", kafkaImage, err)
	}
	return addrs, stop, nil
}
