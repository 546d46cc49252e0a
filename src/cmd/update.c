/* capsa update: change the resource limits of a running container. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum
{
  OPT_BLKIO_WEIGHT = 1000,
  OPT_CPU_PERIOD,
  OPT_CPU_QUOTA,
  OPT_CPU_SHARES,
  OPT_CPU_RT_PERIOD,
  OPT_CPU_RT_RUNTIME,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_MEMORY,
  OPT_MEMORY_RESERVATION,
  OPT_MEMORY_SWAP,
  OPT_KERNEL_MEMORY,
  OPT_KERNEL_MEMORY_TCP,
  OPT_PIDS_LIMIT,
  OPT_L3_CACHE_SCHEMA,
  OPT_MEM_BW_SCHEMA,
};

static const struct option update_options[] = {
  { "resources", required_argument, NULL, 'r' },
  { "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
  { "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
  { "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
  { "cpu-share", required_argument, NULL, OPT_CPU_SHARES },
  { "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
  { "cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD },
  { "cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME },
  { "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
  { "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
  { "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
  { "kernel-memory", required_argument, NULL, OPT_KERNEL_MEMORY },
  { "kernel-memory-tcp", required_argument, NULL, OPT_KERNEL_MEMORY_TCP },
  { "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
  { "l3-cache-schema", required_argument, NULL, OPT_L3_CACHE_SCHEMA },
  { "mem-bw-schema", required_argument, NULL, OPT_MEM_BW_SCHEMA },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static void usage (void)
{
  fputs ("Usage: capsa update [OPTIONS] CONTAINER\n"
         "\n"
         "Change the resource limits of CONTAINER.  -r reads a linux.resources JSON object\n"
         "(as in config.json); the flags below change single values (on top of -r).\n"
         "Sizes take a binary unit: 512k, 10m, 1g (-1: unlimited).\n"
         "\n"
         "Options:\n"
         "  -r, --resources FILE        linux.resources JSON (\"-\": standard input)\n"
         "  --blkio-weight N            block IO weight (10-1000)\n"
         "  --cpu-period US             CPU CFS period in microseconds\n"
         "  --cpu-quota US              CPU CFS quota in microseconds (-1: none)\n"
         "  --cpu-share(s) N            CPU shares (relative weight)\n"
         "  --cpu-rt-period US          realtime period in microseconds\n"
         "  --cpu-rt-runtime US         realtime runtime in microseconds\n"
         "  --cpuset-cpus LIST          CPUs the container may use (0-3, 0,1)\n"
         "  --cpuset-mems LIST          memory nodes the container may use\n"
         "  --memory SIZE               memory limit\n"
         "  --memory-reservation SIZE   memory soft limit\n"
         "  --memory-swap SIZE          memory plus swap limit\n"
         "  --kernel-memory SIZE        kernel memory limit (deprecated by the kernel)\n"
         "  --kernel-memory-tcp SIZE    kernel TCP buffer limit (deprecated by the kernel)\n"
         "  --pids-limit N              maximum number of processes (-1: none)\n"
         "  --l3-cache-schema S         Intel RDT L3 schema (not supported)\n"
         "  --mem-bw-schema S           Intel RDT memory bandwidth schema (not supported)\n"
         "  -h, --help                  show this help\n",
         stdout);
}

int capsa_cmd_update (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_update_opts o = { 0 };
  int c;

  while ((c = capsa_cmd_getopt ("update", argc, argv, "r:h", update_options, err)) != -1)
    {
      switch (c)
        {
        case 'r':
          o.resources_file = optarg;
          break;
        case OPT_BLKIO_WEIGHT:
          o.blkio_weight = optarg;
          break;
        case OPT_CPU_PERIOD:
          o.cpu_period = optarg;
          break;
        case OPT_CPU_QUOTA:
          o.cpu_quota = optarg;
          break;
        case OPT_CPU_SHARES:
          o.cpu_shares = optarg;
          break;
        case OPT_CPU_RT_PERIOD:
          o.cpu_rt_period = optarg;
          break;
        case OPT_CPU_RT_RUNTIME:
          o.cpu_rt_runtime = optarg;
          break;
        case OPT_CPUSET_CPUS:
          o.cpuset_cpus = optarg;
          break;
        case OPT_CPUSET_MEMS:
          o.cpuset_mems = optarg;
          break;
        case OPT_MEMORY:
          o.memory = optarg;
          break;
        case OPT_MEMORY_RESERVATION:
          o.memory_reservation = optarg;
          break;
        case OPT_MEMORY_SWAP:
          o.memory_swap = optarg;
          break;
        case OPT_KERNEL_MEMORY:
          o.kernel_memory = optarg;
          break;
        case OPT_KERNEL_MEMORY_TCP:
          o.kernel_memory_tcp = optarg;
          break;
        case OPT_PIDS_LIMIT:
          o.pids_limit = optarg;
          break;
        case OPT_L3_CACHE_SCHEMA:
          o.l3_cache_schema = optarg;
          break;
        case OPT_MEM_BW_SCHEMA:
          o.mem_bw_schema = optarg;
          break;
        case 'h':
          usage ();
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("update", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_update (g, argv[optind], &o, err) < 0 ? -1 : 0;
}
