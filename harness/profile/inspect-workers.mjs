// Preloaded (--import) into a target the harness profiles: node:cluster would start each worker's
// inspector on the primary's port + 1, + 2, …, which another target started beside this one may
// hold. Port 0 lets the OS pick a free one; the worker announces it on stderr like the primary.
import cluster from 'node:cluster'

if (cluster.isPrimary) cluster.settings.inspectPort = 0
