"""The leaderboard (`recscale score`): closed and open boards, MLPerf results, and the command's outputs."""
