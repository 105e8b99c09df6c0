/* Sinter prelude: included first by every generated translation unit. */
#ifndef SINTER_PRELUDE_H
#define SINTER_PRELUDE_H
#include <stdint.h>
#include <stddef.h>
#include <math.h>
#include <string.h>
#endif
