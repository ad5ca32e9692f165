#include "gateway/web/actions.h"
