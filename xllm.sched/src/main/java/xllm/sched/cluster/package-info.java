/**
 * Several engine processes on one machine: a router (global scheduling, journal, supervision) and worker
 * processes, talking through Chronicle queues and a Chronicle map in a shared-memory directory.
 */
package xllm.sched.cluster;
