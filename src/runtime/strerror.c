/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "freethreading.h"

/* The freethreading(7) table: what each code means coming from us. */
FT_API const char *ft_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:           return "success";
	case ETIMEDOUT:   return "timed out";
	case EAGAIN:      return "would block";
	case EINVAL:      return "invalid argument or configuration, or worker not started";
	case EPERM:       return "lock not held by the caller";
	case EOVERFLOW:   return "released or marked done too many times";
	case EPIPE:       return "barrier broken, or pool/executor broken by its initializer";
	case ESHUTDOWN:   return "queue, pool or executor shut down";
	case EOPNOTSUPP:  return "a thread worker cannot be stopped from outside";
	case ECHILD:      return "only the creating process can do this";
	case EOWNERDEAD:  return "previous holder died; lock now held by caller";
	case EALREADY:    return "already started";
	case EDEADLK:     return "a worker cannot join itself";
	case EMSGSIZE:    return "message larger than the buffer";
	case ENOMEM:      return "shared arena exhausted";
	case EBADF:       return "not a live object of the expected type";
	case ENAMETOOLONG: return "name too long";
	case ECANCELED:   return "task cancelled";
	case ESRCH:       return "the worker running the task died";
	case ENODATA:     return "iteration over: no more results";
	case EPROTO:      return "a sandboxed worker broke its channel's protocol";
	default:          return strerror(err);
	}
}
