#include <fcgiapp.h>
/* The worker loop waits on the shared listening socket with epoll (exclusive wake-up). */
#include <sys/epoll.h>
