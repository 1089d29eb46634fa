/** Mixture of experts: routers, grouped expert computation, and expert load balancing (EPLB). */
package xllm.engine.moe;
