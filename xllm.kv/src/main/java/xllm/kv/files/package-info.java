/** Owner-only files and directories: what every part of xLLM that writes state goes through. */
package xllm.kv.files;
