// Workbox's development logger reads navigator.userAgent, which Node 20 lacks.
(globalThis as { __WB_DISABLE_DEV_LOGS?: boolean }).__WB_DISABLE_DEV_LOGS = true;
