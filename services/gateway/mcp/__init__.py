"""The MCP server: the memory's tools for agents, over stdio (`memos mcp`) and HTTP (/mcp)."""
