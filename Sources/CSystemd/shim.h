#ifndef GREENGRASS_CSYSTEMD_SHIM_H
#define GREENGRASS_CSYSTEMD_SHIM_H

// sd_notify(3) and friends from libsystemd (Debian: libsystemd-dev).
#include <systemd/sd-daemon.h>

#endif
