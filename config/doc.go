// Package config loads and validates the reckon configuration file.
//
// The file is one YAML document, a mapping with these keys (all optional
// except models; see testdata/reckon.yaml for a complete, commented
// example and the fields of Config for defaults and rules):
//
//	kafka:
//	  brokers: [host:port, ...]
//	  instance_id: string; session_timeout: duration
//	  group, client_id, predictions_topic, outcomes_topic,
//	  dead_letter_topic, results_topic: strings
//	  tls: {enabled, ca_file, cert_file, key_file, insecure_skip_verify}
//	  sasl: {mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, username,
//	         password | password_file}
//	listen: host:port
//	probe_listen: host:port
//	web_config_file: path
//	windows: [duration, ...]
//	allowed_lateness, idle_timeout, label_ttl, max_clock_skew, max_event_age: duration
//	commit_interval: duration
//	max_record_bytes, series_limit, max_model_versions: integer
//	state_dir: path
//	state_memory: size (1GiB)
//	models:
//	  - name: string
//	    threshold: number
//	    positive_label, negative_label: strings
//	    reference: {from: time, to: time} | {file: path}
//	    features:
//	      - {name, type: numeric | categorical, min, max, categories: [...], drift}
//	    drift: auto | {numeric_test, categorical_test, p_value,
//	                   psi_threshold, distance_threshold, dataset_share}
//	    cost: {false_positive, false_negative}
//	    slo: {latency: duration, objective: number, window: duration}
//
// Secrets are files: kafka.sasl.password_file (or password, in the file
// itself), kafka.tls.key_file. Parse checks that they resolve (the password
// file holds a password, the certificate matches its key and is valid now);
// the consumer reads them again at each connection, so that rotated secrets
// take effect without a restart. No error and no String method prints a
// password.
//
// Durations are time.ParseDuration syntax plus "d" for 24 hours ("30s",
// "1m30s", "30d"); times are RFC 3339. Relative paths are relative to the
// configuration file's directory. A key that is absent or null takes its
// default. Anchors, aliases and merge keys (<<) work as in YAML.
//
// Validation is strict and complete: an unknown or duplicate key, a value
// of the wrong type, or a value out of range is an error, and Parse reports
// every one of them, each an *Error naming the file, the line and the key
// path, such as
//
//	reckon.yaml:14: models[0].features[1].type: unknown feature type "num" (want numeric or categorical)
//
// A Config returned without error satisfies every invariant documented on
// its fields and is safe for concurrent reads.
package config
